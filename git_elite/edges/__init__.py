"""The edges: everything that touches the world.

git and libgit2 (git, gittree, gitnet, gitrad, gitcheck), local state under $AGENTD_HOME
(store, identity, cache, known_registries), HTTP and Radicle (httpd, sparse), the terminal
(output, progress), and the write and read paths (publish, registry_sources, freshness,
stamping, site). Edges use the core; they never import the command line; see
docs/architecture.md.
"""
