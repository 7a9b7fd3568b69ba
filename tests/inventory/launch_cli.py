"""Starts the seconnect CLI with the inventory commands, for subprocess tests (see helpers.MAIN)."""

from helpers import build

if __name__ == "__main__":
    build()(prog_name="seconnect")
