import sys

from kdap_policies.check import main

sys.exit(main())
