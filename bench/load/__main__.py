import sys

from bench.load import main

sys.exit(main())
