"""Laihua: international patient services for Chinese hospitals."""
