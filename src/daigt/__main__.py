import sys

from daigt.cli import main

sys.exit(main())
