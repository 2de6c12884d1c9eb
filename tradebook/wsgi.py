import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradebook.settings")
application = get_wsgi_application()
# What loading made lives as long as the process: keep it out of every later collection.
gc.freeze()
