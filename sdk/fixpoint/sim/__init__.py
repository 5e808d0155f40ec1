"""Bit-exact host simulation with the reference C runtime."""
