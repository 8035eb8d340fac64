"""`python -m polymarket_bot` is `polymarket-launch`."""

from polymarket_bot.cli.main import main

main()
