use super::*;

use capgen::hex;
use capgen::rpc::{ptype, uuids, Auth, ContextItem, Drep, Guid, Ndr, Pdu};

const ISYSTEMACTIVATOR: &str = "000001a0-0000-0000-c000-000000000046";

fn u(s: &str) -> Uuid {
    s.parse().expect("test UUID literal")
}

/// The parser's UUID of one of capgen's.
fn id(g: Guid) -> Uuid {
    Uuid(g.to_bytes())
}

fn drep(order: ByteOrder) -> Drep {
    match order {
        ByteOrder::Little => Drep::Little,
        ByteOrder::Big => Drep::Big,
    }
}

/// A sec_trailer for the samples: `pad` bytes of 0xAA before it, said in its pad length.
fn signed(pdu: Pdu, auth_type: u8, level: u8, ctx_id: u32, token: &[u8], pad: u8) -> Vec<u8> {
    pdu.with_auth(Auth::new(auth_type, level, ctx_id, token.to_vec())).with_auth_pad(pad, 0xAA).bytes()
}

/// A bind offering ISystemActivator over NDR (ctx 0) and IRemUnknown2 over NDR or NDR64 (ctx 1).
fn bind(order: ByteOrder) -> Pdu {
    let two_syntaxes =
        ContextItem { transfer: vec![(uuids::NDR, 2), (uuids::NDR64, 1)], ..ContextItem::ndr(1, uuids::IREMUNKNOWN2) };
    Pdu::bind(drep(order), 2, 0x1234, &[ContextItem::ndr(0, uuids::ISYSTEM_ACTIVATOR), two_syntaxes])
}

#[test]
fn uuid_prints_lowercase_and_parses_back() {
    let id = Uuid::from_fields(0x000001A0, 0, 0, [0xC0, 0, 0, 0, 0, 0, 0, 0x46]);
    assert_eq!(id.to_string(), ISYSTEMACTIVATOR);
    assert_eq!(Uuid::parse("000001A0-0000-0000-C000-000000000046"), Some(id));
    assert_eq!("{000001a0-0000-0000-c000-000000000046}".parse(), Ok(id));
    assert_eq!(Uuid::parse("000001a0-0000-0000-c000-00000000004"), None);
    assert_eq!(Uuid::parse("000001a0+0000-0000-c000-000000000046"), None);
    assert_eq!(Uuid::parse("000001a0-0000-0000-c000-00000000004g"), None);
    assert!(Uuid::NIL.is_nil());
}

#[test]
fn uuid_on_the_wire_swaps_only_the_first_three_fields() {
    let id = u("e1af8308-5d1f-11c9-91a4-08002b14a0fa");
    let le = hex("0883afe1 1f5d c911 91a4 08002b14a0fa");
    let be = hex("e1af8308 5d1f 11c9 91a4 08002b14a0fa");
    assert_eq!(uuid_from_wire(&le, ByteOrder::Little), Some(id));
    assert_eq!(uuid_from_wire(&be, ByteOrder::Big), Some(id));
    assert_eq!(uuid_from_wire(&be[..15], ByteOrder::Big), None);
}

#[test]
fn little_endian_request_header_and_stub() {
    let bytes = Pdu::request(Drep::Little, 7, 1, 3, b"stub-data".to_vec()).bytes();
    let (p, used) = parse_pdu(&bytes).expect("request");
    assert_eq!(used, bytes.len());
    assert_eq!(p.header.byte_order, ByteOrder::Little);
    assert_eq!(p.header.call_id, 7);
    assert_eq!(p.header.ptype, PacketType::Request);
    assert_eq!(usize::from(p.header.frag_length), bytes.len());
    let Body::Request(r) = p.body else { panic!("not a request: {:?}", p.body) };
    assert_eq!((r.ctx_id, r.opnum, r.object, r.stub), (1, 3, None, &b"stub-data"[..]));
    assert!(p.auth.is_none());
}

#[test]
fn big_endian_request_reads_every_integer_big_endian() {
    let request = Pdu::request(Drep::Big, 0x0A0B0C0D, 0x0102, 0x0304, b"xyz".to_vec());
    let bytes = signed(request, 10, 6, 0x01020304, b"0123456789abcdef", 1);
    let (p, _) = parse_pdu(&bytes).expect("big-endian request");
    assert_eq!(p.header.byte_order, ByteOrder::Big);
    assert_eq!(p.header.call_id, 0x0A0B0C0D);
    assert_eq!(p.header.auth_length, 16);
    let Body::Request(r) = p.body else { panic!("not a request") };
    assert_eq!((r.ctx_id, r.opnum, r.alloc_hint), (0x0102, 0x0304, 3));
    // The pad byte the sender put after the stub is not part of it.
    assert_eq!(r.stub, b"xyz");
    let a = p.auth.expect("auth");
    assert_eq!(a.trailer.auth_context_id, 0x01020304);
    assert_eq!(a.token, b"0123456789abcdef");
}

#[test]
fn request_with_object_uuid_flag_carries_the_object() {
    let obj = "0000f800-0668-04ec-225c-99ce1c620266";
    let bytes = Pdu::request(Drep::Little, 6, 0, 3, vec![1, 2, 3, 4]).with_object(Guid::parse(obj)).bytes();
    assert_eq!(bytes[3], 0x83, "PFC_OBJECT_UUID set");
    let (p, _) = parse_pdu(&bytes).expect("request");
    let Body::Request(r) = p.body else { panic!("not a request") };
    assert_eq!(r.object, Some(u(obj)));
    assert_eq!(r.stub, &[1, 2, 3, 4]);
}

#[test]
fn sec_trailer_auth_pad_is_excluded_from_the_stub() {
    let bytes = signed(Pdu::request(Drep::Little, 9, 2, 6, vec![9; 12]), 10, 5, 79231, &[0x01; 16], 4);
    let (p, _) = parse_pdu(&bytes).expect("request");
    let Body::Request(r) = p.body else { panic!("not a request") };
    assert_eq!(r.stub, &[9; 12]);
    let a = p.auth.expect("auth");
    assert_eq!(a.trailer, SecTrailer { auth_type: 10, auth_level: 5, auth_pad_length: 4, auth_context_id: 79231 });
}

#[test]
fn auth_pad_longer_than_the_stub_is_malformed() {
    let mut bytes = signed(Pdu::request(Drep::Little, 9, 0, 0, Vec::new()), 10, 5, 0, &[0; 16], 0);
    // Claim 8 pad bytes where the stub is empty.
    let trailer = bytes.len() - 16 - 8;
    bytes[trailer + 2] = 8;
    assert_eq!(parse_pdu(&bytes), Err(Error::Malformed));
}

#[test]
fn bind_honours_n_transfer_syntaxes() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let bytes = bind(order).bytes();
        let (p, used) = parse_pdu(&bytes).expect("bind");
        assert_eq!(used, bytes.len());
        let Body::Bind(b) = p.body else { panic!("not a bind") };
        assert_eq!((b.max_xmit_frag, b.max_recv_frag, b.assoc_group_id), (5840, 5840, 0x1234));
        assert_eq!(b.contexts.len(), 2);
        assert_eq!(b.contexts[0].abstract_syntax.uuid, u(ISYSTEMACTIVATOR));
        assert_eq!(b.contexts[1].ctx_id, 1);
        assert_eq!(b.contexts[1].abstract_syntax.uuid, id(uuids::IREMUNKNOWN2));
        let ts: Vec<_> = b.contexts[1].transfer_syntaxes.iter().map(|s| (s.uuid.to_string(), s.version)).collect();
        let ndr64 = "71710533-beba-4937-8319-b5dbef9ccc36";
        assert_eq!(ts, vec![("8a885d04-1ceb-11c9-9fe8-08002b104860".to_string(), 2), (ndr64.to_string(), 1)]);
    }
}

#[test]
fn abstract_syntax_version_is_major_low_minor_high() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let item = ContextItem::ndr(0, uuids::IREMUNKNOWN2).version(3, 7);
        let bytes = Pdu::alter_context(drep(order), 1, 0, &[item]).bytes();
        // The u32 after the UUID: 0x00070003 in the PDU's byte order.
        let v = &bytes[16 + 12 + 4 + 16..16 + 12 + 4 + 20];
        assert_eq!(v, if order == ByteOrder::Little { [3, 0, 7, 0] } else { [0, 7, 0, 3] });
        let (p, _) = parse_pdu(&bytes).expect("alter_context");
        let Body::AlterContext(b) = p.body else { panic!("not an alter_context") };
        assert_eq!((b.contexts[0].abstract_syntax.version, b.contexts[0].abstract_syntax.version_minor), (3, 7));
    }
}

#[test]
fn bind_with_fewer_contexts_than_declared_is_malformed() {
    let mut bytes = bind(ByteOrder::Little).bytes();
    // n_context_elem, after max_xmit_frag, max_recv_frag and assoc_group_id.
    bytes[HEADER_LEN + 8] = 200;
    assert_eq!(parse_pdu(&bytes), Err(Error::Malformed));
}

/// A bind_ack body written by hand, with the padding after sec_addr given (junk or not).
fn bind_ack_body(order: ByteOrder, sec_addr: &[u8], pad: &[u8]) -> Vec<u8> {
    let mut w = Ndr::new(drep(order));
    w.u16(5840).u16(5840).u32(0x5a5a).u16(sec_addr.len() as u16).bytes(sec_addr).bytes(pad);
    w.u8(2).bytes(&[0, 0, 0]);
    w.u16(0).u16(0).syntax(&uuids::NDR, 2, 0);
    w.u16(2).u16(2).syntax(&Guid::NIL, 0, 0);
    w.finish()
}

#[test]
fn bind_ack_aligns_the_result_list_to_four_bytes_from_pdu_start() {
    // 24 + 2 + 4 = 30: two pad bytes; 24 + 2 + 6 = 32: none; 24 + 2 + 0 = 26: two.
    for (addr, pad) in [(&b"135\0"[..], &[0xEE, 0xEE][..]), (b"49157\0", &[]), (b"", &[0x35, 0x38])] {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let bytes = Pdu::new(drep(order), ptype::BIND_ACK, 3, bind_ack_body(order, addr, pad)).bytes();
            let (p, _) = parse_pdu(&bytes).expect("bind_ack");
            let Body::BindAck(a) = p.body else { panic!("not a bind_ack") };
            assert_eq!(a.assoc_group_id, 0x5a5a);
            assert_eq!(a.results.len(), 2, "sec_addr {addr:?}");
            assert_eq!(a.results[0].result, 0);
            assert_eq!(a.results[0].transfer_syntax.uuid, id(uuids::NDR));
            assert_eq!((a.results[1].result, a.results[1].reason), (2, 2));
        }
    }
}

#[test]
fn alter_context_resp_uses_the_bind_ack_layout() {
    let body = bind_ack_body(ByteOrder::Little, b"", &[0, 0]);
    let bytes = Pdu::new(Drep::Little, ptype::ALTER_CONTEXT_RESP, 8, body).bytes();
    let (p, _) = parse_pdu(&bytes).expect("alter_context_resp");
    assert!(matches!(p.body, Body::AlterContextResp(ref a) if a.results.len() == 2));
}

#[test]
fn bind_nak_keeps_the_reject_reason_and_ignores_the_rest() {
    let bytes = Pdu::bind_nak(Drep::Big, 4, 8).bytes();
    let (p, _) = parse_pdu(&bytes).expect("bind_nak");
    assert_eq!(p.body, Body::BindNak(BindNak { reject_reason: 8 }));
    let empty = Pdu::new(Drep::Big, ptype::BIND_NAK, 4, Vec::new()).bytes();
    assert_eq!(parse_pdu(&empty), Err(Error::Malformed));
}

#[test]
fn response_and_fault_bodies() {
    let bytes = Pdu::response(Drep::Little, 11, 1, vec![0; 4]).bytes();
    let (p, _) = parse_pdu(&bytes).expect("response");
    assert_eq!(p.body, Body::Response(Response { alloc_hint: 4, ctx_id: 1, cancel_count: 0, stub: &[0, 0, 0, 0] }));

    // A fault with a cancel count, which capgen's faults never have: the body by hand.
    let mut w = Ndr::new(Drep::Big);
    w.u32(32).u16(1).u8(2).u8(0).u32(0x1c010002).u32(0);
    let bytes = Pdu::new(Drep::Big, ptype::FAULT, 8, w.finish()).with_flags(0x23).bytes();
    let (p, _) = parse_pdu(&bytes).expect("fault");
    assert_eq!(p.body, Body::Fault(Fault { alloc_hint: 32, ctx_id: 1, cancel_count: 2, status: 0x1c010002 }));
    assert_eq!(p.header.pfc_flags & PFC_DID_NOT_EXECUTE, PFC_DID_NOT_EXECUTE);
}

#[test]
fn auth3_shutdown_cancel_orphaned() {
    let bytes = signed(Pdu::auth3(Drep::Little, 3), 10, 2, 0, b"NTLMSSP\0\x03\0\0\0", 0);
    let (p, _) = parse_pdu(&bytes).expect("auth3");
    assert_eq!(p.body, Body::Auth3);
    assert_eq!(p.auth.map(|a| a.token.len()), Some(12));
    for (ptype, body) in [(17, Body::Shutdown), (18, Body::CoCancel), (19, Body::Orphaned)] {
        let bytes = Pdu::new(Drep::Little, ptype, 1, Vec::new()).bytes();
        let (p, _) = parse_pdu(&bytes).expect("no body");
        assert_eq!(p.body, body);
    }
}

#[test]
fn header_rejects_what_is_not_connection_oriented_dce_rpc() {
    let good = Pdu::new(Drep::Little, ptype::SHUTDOWN, 1, Vec::new()).bytes();
    let mut v4 = good.clone();
    v4[0] = 4;
    assert_eq!(parse_header(&v4), Err(Error::NotDceRpc));
    let mut minor2 = good.clone();
    minor2[1] = 2;
    assert_eq!(parse_header(&minor2), Err(Error::NotDceRpc));
    let mut drep = good.clone();
    drep[4] = 0x20;
    assert_eq!(parse_header(&drep), Err(Error::NotDceRpc));
    let mut float = good.clone();
    float[5] = 4;
    assert_eq!(parse_header(&float), Err(Error::NotDceRpc));
    let mut rts = good.clone();
    rts[2] = 20;
    assert_eq!(parse_header(&rts), Err(Error::UnknownPacketType(20)));
    let mut short = good.clone();
    short[8] = 15;
    assert_eq!(parse_header(&short), Err(Error::BadLength));
    let mut auth = good.clone();
    auth[10] = 1;
    assert_eq!(parse_header(&auth), Err(Error::BadLength));
    assert_eq!(parse_header(b"GET / HTTP/1.1\r\n"), Err(Error::NotDceRpc));
}

#[test]
fn short_input_is_incomplete_and_exactly_frag_length_is_consumed() {
    let first = Pdu::request(Drep::Little, 1, 0, 3, b"abc".to_vec()).bytes();
    let second = Pdu::new(Drep::Little, ptype::SHUTDOWN, 2, Vec::new()).bytes();
    assert_eq!(parse_pdu(&first[..10]), Err(Error::Incomplete { needed: 16 }));
    assert_eq!(parse_pdu(&first[..20]), Err(Error::Incomplete { needed: first.len() }));
    let mut stream = first.clone();
    stream.extend_from_slice(&second);
    let (p, used) = parse_pdu(&stream).expect("first");
    assert_eq!((p.header.call_id, used), (1, first.len()));
    let (p, used) = parse_pdu(&stream[used..]).expect("second");
    assert_eq!((p.header.call_id, used), (2, second.len()));
}

fn all_valid_samples() -> Vec<Vec<u8>> {
    let request = Pdu::request(Drep::Little, 5, 0, 3, vec![1; 8]).with_object(uuids::IREMUNKNOWN2);
    vec![
        signed(bind(ByteOrder::Little), 9, 6, 1, &[0x55; 16], 2),
        Pdu::new(Drep::Big, ptype::BIND_ACK, 2, bind_ack_body(ByteOrder::Big, b"135\0", &[0, 0])).bytes(),
        signed(request, 9, 6, 1, &[0x55; 16], 2),
        Pdu::response(Drep::Big, 5, 1, vec![1, 2, 3, 4]).bytes(),
        Pdu::new(Drep::Little, ptype::FAULT, 5, vec![0; 16]).bytes(),
        Pdu::new(Drep::Little, ptype::BIND_NAK, 5, vec![2, 0]).bytes(),
        hex(ZEEK_BIND_KRB),
        hex(ZEEK_BIND_ACK),
        hex(ZEEK_ALTER_RESP_NTLM_CHALLENGE),
        hex(CTXIDS_REMQI_REQUEST),
    ]
}

#[test]
fn truncated_input_at_every_length_is_an_error() {
    for sample in all_valid_samples() {
        assert!(parse_pdu(&sample).is_ok());
        for len in 0..sample.len() {
            assert!(parse_pdu(&sample[..len]).is_err(), "len {len} of {}", sample.len());
        }
    }
}

use crate::testutil::XorShift as Rng;

#[test]
fn mutated_and_truncated_pdus_never_panic() {
    let samples = all_valid_samples();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let mut b = samples[rng.below(samples.len())].clone();
        for _ in 0..1 + rng.below(6) {
            let at = rng.below(b.len());
            match rng.below(4) {
                0 => {
                    if let Some(x) = b.get_mut(at) {
                        *x = rng.next() as u8;
                    }
                }
                1 => {
                    if let Some(x) = b.get_mut(at) {
                        *x ^= 1 << rng.below(8);
                    }
                }
                // Hit the length fields and counts that steer the parser.
                2 => {
                    let hot = [8, 9, 10, 11, 24, 28, 32, 40];
                    let h = hot[rng.below(hot.len())];
                    if h < b.len() {
                        b[h] = rng.next() as u8;
                    }
                }
                _ => b.truncate(at),
            }
        }
        if let Ok((p, used)) = parse_pdu(&b) {
            assert!(used <= b.len());
            assert_eq!(used, usize::from(p.header.frag_length));
        }
    }
}

// Frames 1, 3 and 5 of zeek's dce_rpc_ntlm.pcapng (tcp.payload).
const ZEEK_BIND_KRB: &str = "05000b071000000034018c0002000000d016d0160000000003000000000001004301000000000000c00000000000004600000000045d888aeb1cc9119fe808002b10486002000000010001004301000000000000c0000000000000460000000033057171babe37498319b5dbef9ccc3601000000020001004301000000000000c000000000000046000000002c1cb76c12984045030000000000000001000000090500000000000060818906062b0601050502a07f307da030302e06092a864882f71201020206092a864886f712010202060a2b06010401823702021e060a2b06010401823702020aa24904476045060a2a864886f7120102020304003035a003020105a103020110a21a3018a003020180a111300f1b0d41646d696e6973747261746f72a30d1b0b424c41434b434c4f564552";
const ZEEK_BIND_ACK: &str = "05000c07100000008b00170002000000d016d01656bd100506003538373732000300000000000000045d888aeb1cc9119fe808002b104860020000000200020000000000000000000000000000000000000000000300030000000000000000000000000000000000000000000905000000000000a1153013a0030a0103a10c060a2b06010401823702020a";
const ZEEK_ALTER_RESP_NTLM_CHALLENGE: &str = "05000f07100000006901290102000000d016d01656bd1005000035380100000000000000045d888aeb1cc9119fe808002b104860020000000905000000000000a182012530820121a0030a0101a2820118048201144e544c4d53535000020000001600160038000000158299e2a1b41943559755990000000000000000c600c6004e0000000a00ba470000000f42004c00410043004b0043004c004f005600450052000200160042004c00410043004b0043004c004f005600450052000100120043004200540048002d00570053002d0032000400220062006c00610063006b0063006c006f007600650072002e006c006f00630061006c000300360043004200540048002d00570053002d0032002e0062006c00610063006b0063006c006f007600650072002e006c006f00630061006c000500220062006c00610063006b0063006c006f007600650072002e006c006f00630061006c0007000800b629073c5721d70100000000";
// Frame 94 of suricata-verify's dcerpc-ctxids: IRemUnknown2::RemQueryInterface, object UUID, auth pad 4.
const CTXIDS_REMQI_REQUEST: &str = "050000831000000090001000060000004c0000000000030000f800006806ec04225c99ce1c6202660500070000000000000000009a87db93eb5a844f97be637a19b65b22000000000c6c00006806ec0459ed1e9c6bcd2d8105000000010000000100000083b296b1b4ba1a10b69c00aa00341d0700000000090504000000000001000000a53855e131b36bac02000000";

#[test]
fn real_bind_with_three_contexts_and_bind_time_feature_negotiation() {
    let bytes = hex(ZEEK_BIND_KRB);
    let (p, used) = parse_pdu(&bytes).expect("bind");
    assert_eq!(used, bytes.len());
    let Body::Bind(b) = p.body else { panic!("not a bind") };
    assert_eq!(b.contexts.len(), 3);
    assert!(b.contexts.iter().all(|c| c.abstract_syntax.uuid == id(uuids::IREMUNKNOWN2)));
    assert_eq!(b.contexts[2].transfer_syntaxes[0].uuid.to_string(), "6cb71c2c-9812-4540-0300-000000000000");
    let a = p.auth.expect("auth");
    assert_eq!((a.trailer.auth_type, a.trailer.auth_level), (9, 5));
    assert_eq!(a.token.first(), Some(&0x60));
    assert_eq!(a.token.len(), usize::from(p.header.auth_length));
}

#[test]
fn real_bind_ack_with_negotiate_ack_result() {
    let bytes = hex(ZEEK_BIND_ACK);
    let (p, _) = parse_pdu(&bytes).expect("bind_ack");
    let Body::BindAck(a) = p.body else { panic!("not a bind_ack") };
    let r: Vec<_> = a.results.iter().map(|r| (r.result, r.reason)).collect();
    assert_eq!(r, vec![(0, 0), (2, 2), (3, 3)]);
    assert_eq!(a.results[0].transfer_syntax.uuid, id(uuids::NDR));
}

#[test]
fn real_alter_context_resp_with_empty_sec_addr_and_junk_padding() {
    let bytes = hex(ZEEK_ALTER_RESP_NTLM_CHALLENGE);
    let (p, _) = parse_pdu(&bytes).expect("alter_context_resp");
    let Body::AlterContextResp(a) = p.body else { panic!("not an alter_context_resp") };
    assert_eq!(a.results.len(), 1);
    assert_eq!(a.results[0].result, 0);
    assert!(p.auth.is_some_and(|a| a.token.starts_with(&[0xa1, 0x82])));
}

#[test]
fn real_remqueryinterface_request_with_object_and_auth_pad() {
    let bytes = hex(CTXIDS_REMQI_REQUEST);
    let (p, _) = parse_pdu(&bytes).expect("request");
    let Body::Request(r) = p.body else { panic!("not a request") };
    assert_eq!(r.opnum, 3);
    assert_eq!(r.object, Some(u("0000f800-0668-04ec-225c-99ce1c620266")));
    assert_eq!(r.stub.len(), 76);
    assert_eq!(p.auth.map(|a| a.trailer.auth_pad_length), Some(4));
}
