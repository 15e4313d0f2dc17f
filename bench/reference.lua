-- SPDX-License-Identifier: GPL-2.0-or-later
--
-- reference.lua: the minimal Lua post-dissector a user would write instead of the
-- mtls plugin, used by bench/run.sh as the reference cost. Per TCP connection it
-- correlates tls.handshake.type (CertificateRequest 13, Certificate 11),
-- tls.handshake.certificates_length and tls.alert_message.desc into a verdict and
-- shows it on every frame carrying a handshake message or an alert.
--
--   tshark -X lua_script:bench/reference.lua -r capture.pcapng -Y mtlsref

local f_stream = Field.new("tcp.stream")
local f_srcport = Field.new("tcp.srcport")
local f_hs_type = Field.new("tls.handshake.type")
local f_certs_len = Field.new("tls.handshake.certificates_length")
local f_alert = Field.new("tls.alert_message.desc")

local proto = Proto("mtlsref", "mTLS reference (Lua)")
local pf_verdict = ProtoField.string("mtlsref.verdict", "Verdict")
local pf_request = ProtoField.framenum("mtlsref.request_frame", "CertificateRequest in frame")
local pf_alert = ProtoField.uint8("mtlsref.alert", "Alert")
proto.fields = { pf_verdict, pf_request, pf_alert }

local state = {}  -- tcp.stream -> {server_port, request, answer, verdict}
local at_frame = {}  -- frame number -> verdict shown there (first pass decides)

function proto.init()
  state = {}
  at_frame = {}
end

function proto.dissector(tvb, pinfo, tree)
  local types = { f_hs_type() }
  local alerts = { f_alert() }
  if #types == 0 and #alerts == 0 then return end
  local stream = f_stream()
  if not stream then return end
  local key = stream.value
  local s = state[key]
  if not s then
    s = { verdict = "pending" }
    state[key] = s
  end
  local num = pinfo.number
  if not pinfo.visited then
    local from_client = s.server_port ~= nil and f_srcport().value ~= s.server_port
    for _, t in ipairs(types) do
      local v = t.value
      if v == 2 then s.server_port = f_srcport().value end   -- ServerHello
      if v == 13 then
        s.request = num
        s.server_port = f_srcport().value
        s.verdict = "pending"
      elseif v == 11 and s.request and from_client then
        local len = f_certs_len()
        s.answer = (len and len.value > 0) and "chain" or "empty"
      elseif (v == 20 or v == 4) and s.request and s.answer and not from_client then
        s.verdict = (s.answer == "chain") and "accepted" or "server-ignored"
      end
    end
    for _, a in ipairs(alerts) do
      if s.request and s.verdict == "pending" then
        s.verdict = from_client and "client-aborted" or "rejected"
        s.alert = a.value
      end
    end
    at_frame[num] = s.verdict
  end
  local sub = tree:add(proto)
  sub:add(pf_verdict, at_frame[num] or s.verdict)
  if s.request then sub:add(pf_request, s.request) end
  if s.alert then sub:add(pf_alert, s.alert) end
end

register_postdissector(proto)
