-- dcomauth_bench.lua: the correlation dcomauth makes, as a Lua post-dissector, for bench/ only.
-- Per TCP stream: the first NTLMSSP AUTH identity is the baseline; an AUTH under another identity
-- is an identity change (its auth context becomes "changed"); a call made on a changed context
-- that faults is a fault after change; a server FIN/RST after a change is an abort after change.
-- Like any Lua post-dissector it reads epan's fields, so epan builds a tree for every frame.
-- Verdicts are computed on the first pass and replayed, as dcomauth does.
--   tshark -X lua_script:bench/lua/dcomauth_bench.lua -r CAPTURE -q -z expert
local p = Proto("dcomauthlua", "DCOM auth tracker (Lua benchmark)")

local ef_change = ProtoExpert.new("dcomauthlua.identity_change", "Identity changed inside the association",
    expert.group.SECURITY, expert.severity.WARN)
local ef_fault = ProtoExpert.new("dcomauthlua.fault_after_change", "Fault under changed identity",
    expert.group.SECURITY, expert.severity.WARN)
local ef_abort = ProtoExpert.new("dcomauthlua.abort_after_change", "Server closed the association after an identity change",
    expert.group.SEQUENCE, expert.severity.ERROR)
p.experts = { ef_change, ef_fault, ef_abort }
local pf_identity = ProtoField.string("dcomauthlua.identity", "Identity")
p.fields = { pf_identity }

local f_stream = Field.new("tcp.stream")
local f_srcport = Field.new("tcp.srcport")
local f_dstport = Field.new("tcp.dstport")
local f_fin = Field.new("tcp.flags.fin")
local f_rst = Field.new("tcp.flags.reset")
local f_ptype = Field.new("dcerpc.pkt_type")
local f_call = Field.new("dcerpc.cn_call_id")
local f_authctx = Field.new("dcerpc.auth_ctx_id")
local f_user = Field.new("ntlmssp.auth.username")
local f_domain = Field.new("ntlmssp.auth.domain")

local streams = {}  -- stream -> { server, baseline, ctx = {id -> identity}, changed = {id}, calls = {call -> true}, change_frame, faulted }
local verdicts = {} -- frame -> { identity, change, fault, abort }

function p.init()
    streams, verdicts = {}, {}
end

local function all(field)
    local out = {}
    for i, v in ipairs({ field() }) do out[i] = v.value end
    return out
end

local function first_pass(pinfo)
    local stream = f_stream()
    if stream == nil then return nil end
    local ptypes = all(f_ptype)
    local fin, rst = f_fin(), f_rst()
    local closing = (fin and fin.value) or (rst and rst.value)
    local s = streams[stream.value]
    if #ptypes == 0 and not (s and closing) then return nil end
    if s == nil then
        s = { ctx = {}, changed = {}, calls = {} }
        streams[stream.value] = s
    end
    local v = {}
    local ctxs, calls, users, domains = all(f_authctx), all(f_call), all(f_user), all(f_domain)
    for i, user in ipairs(users) do
        local identity = (domains[i] or "") .. "\\" .. user
        local ctx = ctxs[i] or ctxs[1] or 0
        s.ctx[ctx] = identity
        v.identity = identity
        if s.baseline == nil then
            s.baseline = identity
        elseif identity:lower() ~= s.baseline:lower() then
            s.changed[ctx] = true
            s.change_frame = pinfo.number
            v.change = identity
        end
    end
    for i, ptype in ipairs(ptypes) do
        local call = calls[i]
        if ptype == 11 and s.server == nil then s.server = f_dstport().value end
        if ptype == 0 and s.changed[ctxs[i] or ctxs[1] or -1] then s.calls[call] = true end
        if ptype == 3 and call and s.calls[call] then
            v.fault = call
            s.faulted = true
        end
    end
    if closing and s.change_frame and s.server == f_srcport().value and not s.closed then
        s.closed = true
        v.abort = s.change_frame
    end
    if next(v) == nil then return nil end
    return v
end

function p.dissector(tvb, pinfo, tree)
    local v
    if not pinfo.visited then
        v = first_pass(pinfo)
        verdicts[pinfo.number] = v
    else
        v = verdicts[pinfo.number]
    end
    if v == nil then return end
    local t = tree:add(p)
    if v.identity then t:add(pf_identity, v.identity) end
    if v.change then t:add_proto_expert_info(ef_change, "Identity changed inside the association: " .. v.change) end
    if v.fault then t:add_proto_expert_info(ef_fault, "Fault under changed identity, call " .. v.fault) end
    if v.abort then t:add_proto_expert_info(ef_abort, "Server closed the association after the change in frame " .. v.abort) end
end

register_postdissector(p, true)
