from rillet.cli import main

main()
