"""`python -m presswatch.verify_package PACKAGE --public-key FILE`."""

from presswatch.verify_package.cli import main

raise SystemExit(main())
