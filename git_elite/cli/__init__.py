"""The command line: the click group (main), the error boundary, the git hooks run without
click (hookrun) and one module per subcommand (commands/). Nothing below imports it.

Keep this file empty of imports: `git-elite hook …` loads git_elite.cli.hookrun without click.
"""
