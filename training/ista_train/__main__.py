import sys

from ista_train.cli import main

sys.exit(main())
