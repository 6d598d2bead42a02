import sys

from gradfail.cli import main

sys.exit(main())
