"""Fault tests: processes killed mid-way, broken inputs, and what each component does then."""
