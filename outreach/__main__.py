from outreach.cli.app import main

main()
