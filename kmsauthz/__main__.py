from kmsauthz.cli.main import main

main()
