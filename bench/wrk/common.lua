-- Shared by every wrk script in bench/wrk/: number the threads, and print the figures.
--
-- setup() runs once per thread before the run and hands each thread its number (0-based).
-- wrk calls each thread's init() right after that thread's setup(), before the next thread
-- exists, so the thread count cannot come from setup(): every script takes it as its first
-- argument (bench/yardstick.py passes -t), and thread_count() reads it.
-- done() prints one line, "YARDSTICK {json}", that bench/yardstick.py reads: requests,
-- seconds, p50/p99/max latency in milliseconds, and errors (HTTP status > 399, which is how
-- wrk counts them, plus socket connect/read/write errors and timeouts). A thread that ran out
-- of prepared residents stops early and is counted in "exhausted": its figures are short.

local threads = {}

function setup(thread)
   thread:set("thread_id", #threads)
   table.insert(threads, thread)
end

function thread_count(args)
   local count = tonumber(args[1])
   assert(count and count > thread_id, "the first script argument must be wrk's -t")
   return count
end

function done(summary, latency, requests)
   local e = summary.errors
   local exhausted = 0
   for _, t in ipairs(threads) do
      if t:get("exhausted") then
         exhausted = exhausted + 1
      end
   end
   io.write(string.format(
      'YARDSTICK {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
      '"max_ms": %.3f, "status_errors": %d, "socket_errors": %d, "timeouts": %d, ' ..
      '"exhausted_threads": %d}\n',
      summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000, e.status,
      e.connect + e.read + e.write, e.timeout, exhausted))
end
