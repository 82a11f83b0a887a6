"""`git elite witness serve|vkey`: cosign other logs' checkpoints (SPEC §15, docs/log.md)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import click

from git_elite.cli.main import FullHelpGroup
from git_elite.core.errors import EliteError, UsageError
from git_elite.edges import output

CONTEXT = {"help_option_names": ["-h", "--help"]}
NAME_HELP = ("The witness's key name, a schema-less URL such as w1.example.net (default: this "
             "node's did:key). Logs and readers know the witness by this name and its key.")


@click.group("witness", cls=FullHelpGroup, context_settings=CONTEXT)
def command() -> None:
    """Run a c2sp.org/tlog-witness: cosign a log's checkpoints only when each extends the
    last one seen, so a log cannot show two readers two histories.

    The witness key is this node's identity ($AGENTD_HOME/identity.json).

    \b
    Examples:
      git elite witness vkey --name w1.example.net
      git elite witness serve --listen 0.0.0.0:7380 --logs logs.txt \\
          --name w1.example.net
    """


@command.command("vkey", context_settings=CONTEXT)
@click.option("--name", metavar="NAME", help=NAME_HELP)
def vkey(name: str | None) -> None:
    """Print this witness's cosigner verifier key (type 0x04, c2sp.org/tlog-cosignature):
    what a registry's log role or any log operator adds to trust this witness.

    \b
    Examples:
      git elite witness vkey --name w1.example.net
    """
    from git_elite.core import note
    from git_elite.edges import identity

    ident = identity.load_identity()
    output.data(note.cosigner_vkey(name or ident.did, ident.key.public))


def _address(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--listen {listen!r}: expected HOST:PORT (e.g. 127.0.0.1:7380)")
    return host.strip("[]") or "127.0.0.1", int(port)


@command.command("serve", context_settings=CONTEXT)
@click.option("--listen", required=True, metavar="HOST:PORT",
              help="Address to listen on (port 0: any free port, printed at start).")
@click.option("--logs", "logs_file", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="The logs to witness: one '<origin> <verifier key>' per line (# comments).")
@click.option("--name", metavar="NAME", help=NAME_HELP)
@click.option("--state", "state_dir", metavar="DIR", type=click.Path(path_type=Path),
              help="Where the latest cosigned checkpoints and equivocation evidence are kept "
                   "(default: $AGENTD_HOME/witness).")
def serve(listen: str, logs_file: Path, name: str | None, state_dir: Path | None) -> int:
    """Serve POST /add-checkpoint (c2sp.org/tlog-witness) until SIGTERM or Ctrl-C.

    A checkpoint is cosigned only when it is signed by its log's key and a consistency
    proof shows it extends the latest one cosigned for that log; that state is written to
    disk before the answer. A log that signs two roots for one size is refused and both
    checkpoints are kept as evidence. GET /<sha256(origin)>/checkpoint serves the latest
    cosigned checkpoint to monitors.

    \b
    Examples:
      printf 'example.org/elites example.org/elites+1a2b3c4d+AQ...\\n' > logs.txt
      git elite witness serve --listen 127.0.0.1:7380 --logs logs.txt \\
          --name w1.example.net
    """
    from git_elite.core import witness as judge
    from git_elite.edges import identity, store
    from git_elite.edges import witness as edge

    ident = identity.load_identity()
    logs = judge.parse_logs(store.read_bytes(logs_file), str(logs_file))
    node = edge.Witness(name or ident.did, ident.key, logs,
                        state_dir or edge.default_state_dir())
    host, port = _address(listen)
    try:
        server = edge.Server((host, port), node)
    except OSError as err:  # the port is taken, the address not ours: state, so exit 1
        raise EliteError(f"--listen {listen}: {err.strerror or err}") from None
    port = server.server_port
    stop = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    output.info(f"witness {node.vkey()} listening on http://{host}:{port}/ for "
                f"{len(logs)} log(s); state in {node.state_dir}")
    with server:
        server.serve_forever(poll_interval=0.2)
    output.info("witness stopped")
    return 0
