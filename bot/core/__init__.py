"""Core value types and pure helpers (models, text normalisation, handles, time). Imports nothing else from bot."""
