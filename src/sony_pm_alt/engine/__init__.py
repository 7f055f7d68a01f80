"""The sync engine: camera sessions, listing, planning, download and the state store.

Imports the codec, the native layer and the profiles; never the CLI or the emulator.
"""
