"""Signed confirmations: PAdES documents, signer keys, minutes, public verification."""
