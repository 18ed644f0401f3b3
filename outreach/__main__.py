from outreach.cli.start import main

main()
