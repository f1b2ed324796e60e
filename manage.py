#!/usr/bin/env python
from salesops.__main__ import main

if __name__ == "__main__":
    main()
