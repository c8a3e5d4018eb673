import os
import sys

# Before numpy is imported: the harness's arrays are small or streamed, and BLAS threads would only cost start-up
# time and compete with the judge's forked journal readers for the cores (a caller's own setting wins).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from battle.cli import main  # noqa: E402

sys.exit(main())
