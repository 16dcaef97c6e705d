"""Kerberos for the live clients: impacket's getKerberosType1, with a TGS-REQ this KDC accepts.

impacket 0.13.1's getKerberosTGS sends a TGS-REQ whose authenticator has no checksum over the
request body; Samba 4.17's Heimdal KDC refuses that (KRB_AP_ERR_INAPP_CKSUM). This is
impacket's function (Apache-style impacket licence) with the one missing field added: the
RFC 4120 5.4.1 checksum of the encoded req-body, key usage 6, in the session key's checksum type.
"""
import datetime
import random

from pyasn1.codec.der import decoder, encoder
from pyasn1.type.univ import noValue

from impacket.krb5 import constants, kerberosv5
from impacket.krb5.asn1 import AP_REQ, AS_REP, TGS_REP, TGS_REQ, Authenticator, EncTGSRepPart, seq_set, seq_set_iter
from impacket.krb5.crypto import Key, _checksum_table, _enctype_table
from impacket.krb5.types import KerberosTime, Principal, Ticket


def _checksum_type(enctype):
    # The "mandatory checksum" of each encryption type (RFC 3961 / 3962 / 4757).
    return {18: 16, 17: 15, 23: -138, 16: 12}[enctype]


def _untag(der):
    """The req-body's own SEQUENCE, without the [4] EXPLICIT tag it carries inside TGS-REQ."""
    if der[0] != 0xA4:
        return der
    n = der[1]
    return der[2:] if n < 0x80 else der[2 + (n & 0x7F):]


def getKerberosTGS(serverName, domain, kdcHost, tgt, cipher, sessionKey, renew=False):
    try:
        decodedTGT = decoder.decode(tgt, asn1Spec=AS_REP())[0]
    except Exception:
        decodedTGT = decoder.decode(tgt, asn1Spec=TGS_REP())[0]
    domain = domain.upper()
    ticket = Ticket()
    ticket.from_asn1(decodedTGT["ticket"])

    tgsReq = TGS_REQ()
    tgsReq["pvno"] = 5
    tgsReq["msg-type"] = int(constants.ApplicationTagNumbers.TGS_REQ.value)
    reqBody = seq_set(tgsReq, "req-body")
    opts = [constants.KDCOptions.forwardable.value, constants.KDCOptions.renewable.value,
            constants.KDCOptions.renewable_ok.value, constants.KDCOptions.canonicalize.value]
    reqBody["kdc-options"] = constants.encodeFlags(opts)
    seq_set(reqBody, "sname", serverName.components_to_asn1)
    reqBody["realm"] = domain
    reqBody["till"] = KerberosTime.to_asn1(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1))
    reqBody["nonce"] = random.SystemRandom().getrandbits(31)
    seq_set_iter(reqBody, "etype", (int(cipher.enctype), int(constants.EncryptionTypes.rc4_hmac.value)))

    apReq = AP_REQ()
    apReq["pvno"] = 5
    apReq["msg-type"] = int(constants.ApplicationTagNumbers.AP_REQ.value)
    apReq["ap-options"] = constants.encodeFlags([])
    seq_set(apReq, "ticket", ticket.to_asn1)

    authenticator = Authenticator()
    authenticator["authenticator-vno"] = 5
    authenticator["crealm"] = decodedTGT["crealm"].asOctets()
    clientName = Principal()
    clientName.from_asn1(decodedTGT, "crealm", "cname")
    seq_set(authenticator, "cname", clientName.components_to_asn1)
    cktype = _checksum_type(sessionKey.enctype)
    body = _untag(encoder.encode(tgsReq["req-body"]))
    authenticator["cksum"] = noValue
    authenticator["cksum"]["cksumtype"] = cktype
    authenticator["cksum"]["checksum"] = _checksum_table[cktype].checksum(sessionKey, 6, body)
    now = datetime.datetime.now(datetime.timezone.utc)
    authenticator["cusec"] = now.microsecond
    authenticator["ctime"] = KerberosTime.to_asn1(now)
    encrypted = cipher.encrypt(sessionKey, 7, encoder.encode(authenticator), None)
    apReq["authenticator"] = noValue
    apReq["authenticator"]["etype"] = cipher.enctype
    apReq["authenticator"]["cipher"] = encrypted

    tgsReq["padata"] = noValue
    tgsReq["padata"][0] = noValue
    tgsReq["padata"][0]["padata-type"] = int(constants.PreAuthenticationDataTypes.PA_TGS_REQ.value)
    tgsReq["padata"][0]["padata-value"] = encoder.encode(apReq)

    r = kerberosv5.sendReceive(encoder.encode(tgsReq), domain, kdcHost)
    tgs = decoder.decode(r, asn1Spec=TGS_REP())[0]
    plain = cipher.decrypt(sessionKey, 8, tgs["enc-part"]["cipher"])
    part = decoder.decode(plain, asn1Spec=EncTGSRepPart())[0]
    newSessionKey = Key(part["key"]["keytype"], part["key"]["keyvalue"].asOctets())
    return r, _enctype_table[part["key"]["keytype"]], sessionKey, newSessionKey


# getKerberosType1 looks getKerberosTGS up in its module at call time.
kerberosv5.getKerberosTGS = getKerberosTGS
getKerberosType1 = kerberosv5.getKerberosType1
getKerberosType3 = kerberosv5.getKerberosType3
