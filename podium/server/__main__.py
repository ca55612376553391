"""``python -m podium.server [options]``: the same command as ``podium server``."""

from podium.cli.server import server

if __name__ == "__main__":
    server(prog_name="python -m podium.server")
