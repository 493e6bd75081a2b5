"""A short run of the extension: `python example.py` after `python setup.py build_ext --inplace`."""
import threading

from module_name import load

ext = load()
print(f"{ext.__name__}.byte_sum(b'hello world') = {ext.byte_sum(b'hello world')}")
big = bytes(range(256)) * 40_000  # 10 MB: read with the GIL released
print(f"byte_sum of 10 MB = {ext.byte_sum(big)} (sum() says {sum(big)})")

counter = ext.Counter(start=10)
threads = [threading.Thread(target=lambda: [counter.add(1) for _ in range(10_000)]) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"Counter(start=10) after 4 threads x 10000 add(1): value = {counter.value}")
