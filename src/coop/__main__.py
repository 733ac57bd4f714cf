from coop.cli import main

main()
