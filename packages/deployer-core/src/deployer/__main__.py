"""`python -m deployer` is the `deployer` command."""

from deployer.cli import main

main()
