error("this script fails at start")
