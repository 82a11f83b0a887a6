"""`git elite sign FILE [--type T] [-o OUT]`: sign a document in place or to OUT."""

from __future__ import annotations

from pathlib import Path

import click

from git_elite.core import documents
from git_elite.core.errors import EliteError, ManifestError
from git_elite.edges import identity, output, store

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.command("sign", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--type", "kind", type=click.Choice(documents.TYPES), metavar="T",
              help="Document type when it has no `type` field: "
              + ", ".join(documents.TYPES) + ".")
@click.option("-o", "out", type=click.Path(dir_okay=False, path_type=Path), metavar="OUT",
              help="Write the signed document here instead of replacing FILE.")
@click.option("--force", is_flag=True, help="Replace an existing OUT.")
def command(file: Path, kind: str | None, out: Path | None, force: bool) -> None:
    """Sign a document with this node's key (atomically, in place or to OUT).

    The signer field (`owner_did`, `from`) is filled with this node's did when absent and
    must equal it when present. The signed document must pass every check of verify-file.
    Key rotations are signed by `git elite id rotate`.

    \b
    Examples:
      git elite sign manifest.json
      git elite sign job.json --type training-job -o job.signed.json
    """
    if out is not None and out.exists() and not force and out.resolve() != file.resolve():
        raise EliteError(f"{out}: already exists; not replaced (choose another -o, or --force)")
    ident = identity.load_identity()
    name = str(file)
    doc = documents.parse(store.read_bytes(file), name, kind)
    try:
        signed = documents.sign(doc.body, ident.key, doc.kind)
    except EliteError as err:
        raise type(err)(err.message, rule=err.rule or "schema", path=name) from None
    data = documents.to_bytes(signed)
    _, problems = documents.check(data, name, doc.kind)
    if problems:
        for problem in problems:
            output.info(problem.line())
        raise ManifestError(f"not signed: {len(problems)} problem(s)", rule=problems[0].rule,
                            path=name)
    target = out or file
    store.atomic_write(target, data, mode=0o644)
    output.info(f"signed {doc.kind} {target} as {ident.did}")
