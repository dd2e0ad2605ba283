"""`python -m ioc` runs the ioc command line."""

from ioc.ops.cli import main

main()
