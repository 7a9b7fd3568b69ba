from seconnect.cli import main

main()
