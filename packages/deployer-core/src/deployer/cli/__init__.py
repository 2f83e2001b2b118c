"""The deployer command line."""
