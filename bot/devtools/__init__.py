"""Test doubles the product ships for its demo (the loopback Bot API sandbox) and the demo itself; imported by no product module."""
