import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# Everything loaded so far (modules, the app registry, URL patterns, templates' engines) lives as
# long as the process: moved out of the collector's generations, a full collection no longer walks
# it. Full collections had cost 40-70 ms of a request's time, the slowest request of every search
# benchmark run (bench/RESULTS.md).
gc.freeze()
