import sys

from battle.cli import main

sys.exit(main())
