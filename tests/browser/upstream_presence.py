"""Prints the presence list of the upstream on 127.0.0.1:PORT as one JSON line, asked
over a trusted-proxy connect of its own (clawgate_test.upstream.presence), for the
browser scripts: upstream_presence.py PORT UPSTREAM_ROOT."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from clawgate_test import upstream  # noqa: E402


def main():
    port, root = int(sys.argv[1]), Path(sys.argv[2])
    print(json.dumps(upstream.presence(upstream.Upstream(root, port=port))))


if __name__ == "__main__":
    main()
