"""A client process for the RPC tests: ``python client_process.py MODE ADDRESS [N]``.

Modes: ``calls`` (N checked calls, prints "ok N"), ``hang`` (starts a long call and waits
to be killed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from shotbook.rpc import RPCClient


def main() -> None:
    mode, address = sys.argv[1], sys.argv[2]
    with RPCClient(address, timeout=30, name=f"proc-{os.getpid()}") as client:
        if mode == "calls":
            count = int(sys.argv[3])
            for index in range(count):
                image = np.full((64, 64), index, dtype=np.uint16)
                args, _ = client.call("echo", index, image)
                assert args[0] == index
                assert np.array_equal(args[1], image)
                assert client.call("add", index, os.getpid()) == index + os.getpid()
            print(f"ok {count}", flush=True)
        elif mode == "hang":
            print("calling", flush=True)
            client.call("sleep", 30)


if __name__ == "__main__":
    main()
