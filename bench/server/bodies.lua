-- wrk script: sends the request bodies of the file $WRK_BODIES (one JSON body per line) in turn,
-- with method $WRK_METHOD to path $WRK_PATH. With $WRK_BODIES2 set, each request is instead one
-- of those (method $WRK_METHOD2, path $WRK_PATH2) with probability $WRK_SHARE2: the mixed load.
-- Prints "RESULT <req/s> <p50 ms> <p99 ms> <errors> <requests>" at the end.
local function load(path)
  local bodies = {}
  for line in io.lines(path) do bodies[#bodies + 1] = line end
  return bodies
end

local first, second = {}, nil
local n1, n2 = 0, 0
local method, path = os.getenv("WRK_METHOD") or "POST", os.getenv("WRK_PATH")
local method2, path2 = os.getenv("WRK_METHOD2") or "PUT", os.getenv("WRK_PATH2")
local share2 = tonumber(os.getenv("WRK_SHARE2") or "0")

function init(args)
  first = load(os.getenv("WRK_BODIES"))
  n1 = math.random(#first) - 1
  local path2_bodies = os.getenv("WRK_BODIES2")
  if path2_bodies and path2_bodies ~= "" then
    second = load(path2_bodies)
    n2 = math.random(#second) - 1
  end
  wrk.headers["Content-Type"] = "application/json"
  local key = os.getenv("WRK_API_KEY")
  if key and key ~= "" then wrk.headers["api-key"] = key end
end

function request()
  if second and math.random() < share2 then
    n2 = n2 % #second + 1
    return wrk.format(method2, path2, nil, second[n2])
  end
  n1 = n1 % #first + 1
  return wrk.format(method, path, nil, first[n1])
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\n", summary.requests / (summary.duration / 1e6),
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, summary.requests))
end
