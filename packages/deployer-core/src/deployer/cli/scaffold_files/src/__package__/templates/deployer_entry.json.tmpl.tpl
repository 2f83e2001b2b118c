{"entrypoint": "$$deployer_entrypoint", "calling_convention": "$$deployer_calling_convention"}
