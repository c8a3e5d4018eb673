import sys

from sut.up import main

sys.exit(main())
