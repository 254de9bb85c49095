"""Contracts area: lifecycle, signatures, ethics review, policy data, contract gate."""
