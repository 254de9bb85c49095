"""The pseudonymisation service of the trusted third party (contract-scoped HMAC keys)."""
