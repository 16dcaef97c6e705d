//! Well-known interface and transfer-syntax UUIDs.
//!
//! Sources: Wireshark's packet-dcom-*.c / packet-dcerpc-*.c, MS-DCOM 1.9, MS-WMI 1.9, and the
//! "Standards Assignments" section of each MS-* protocol named in the comments.
use crate::uuid::Uuid;

/// A UUID literal checked at compile time (a typo is a build error, never a runtime panic).
macro_rules! uuid {
    ($s:literal) => {{
        const U: Uuid = match Uuid::parse($s) {
            Some(u) => u,
            None => panic!(concat!("bad UUID literal: ", $s)),
        };
        U
    }};
}

// DCOM (MS-DCOM 1.9; Wireshark packet-dcom-*.c).
pub const IID_IUNKNOWN: Uuid = uuid!("00000000-0000-0000-c000-000000000046");
pub const IID_ICLASSFACTORY: Uuid = uuid!("00000001-0000-0000-c000-000000000046");
pub const IID_IREMUNKNOWN: Uuid = uuid!("00000131-0000-0000-c000-000000000046");
/// Wireshark uses 0x143 (the DCOM spec once said 0x142, which Windows registers as IRemoteQI).
pub const IID_IREMUNKNOWN2: Uuid = uuid!("00000143-0000-0000-c000-000000000046");
/// IRemoteSCMActivator in MS-DCOM; Wireshark calls it ISystemActivator.
pub const IID_ISYSTEMACTIVATOR: Uuid = uuid!("000001a0-0000-0000-c000-000000000046");
pub const IID_IACTIVATION: Uuid = uuid!("4d9f4ab8-7d1c-11cf-861e-0020af6e7c57");
/// The OXID resolver.
pub const IID_IOBJECTEXPORTER: Uuid = uuid!("99fcfec4-5260-101b-bbcb-00aa0021347a");
pub const IID_IDISPATCH: Uuid = uuid!("00020400-0000-0000-c000-000000000046");
pub const IID_ITYPEINFO: Uuid = uuid!("00020401-0000-0000-c000-000000000046");
pub const IID_ITYPELIB: Uuid = uuid!("00020402-0000-0000-c000-000000000046");
pub const IID_IENUMVARIANT: Uuid = uuid!("00020404-0000-0000-c000-000000000046");
/// .NET's COM-callable-wrapper probe; a QI for it under a changed identity is the case study's bug.
pub const IID_IMANAGEDOBJECT: Uuid = uuid!("c3fcc19e-a970-11d2-8b5a-00a0c9b7c9c4");
pub const IID_IPROVIDECLASSINFO: Uuid = uuid!("b196b283-bab4-101a-b69c-00aa00341d07");

// WMI (MS-WMI 1.9).
pub const IID_IWBEMLEVEL1LOGIN: Uuid = uuid!("f309ad18-d86a-11d0-a075-00c04fb68820");
pub const IID_IWBEMLOGINCLIENTID: Uuid = uuid!("d4781cd6-e5d3-44df-ad94-930efe48a887");
pub const IID_IWBEMLOGINHELPER: Uuid = uuid!("541679ab-2e5f-11d3-b34e-00104bcc4b4a");
pub const IID_IWBEMSERVICES: Uuid = uuid!("9556dc99-828c-11cf-a37e-00aa003240c7");
pub const IID_IWBEMBACKUPRESTORE: Uuid = uuid!("c49e32c7-bc8b-11d2-85d4-00105a1f8304");
pub const IID_IWBEMBACKUPRESTOREEX: Uuid = uuid!("a359dec5-e813-4834-8a2a-ba7f1d777d76");
pub const IID_IWBEMCLASSOBJECT: Uuid = uuid!("dc12a681-737f-11cf-884d-00aa004b2e24");
pub const IID_IWBEMCONTEXT: Uuid = uuid!("44aca674-e8fc-11d0-a07c-00c04fb68820");
pub const IID_IENUMWBEMCLASSOBJECT: Uuid = uuid!("027947e1-d731-11ce-a357-000000000001");
pub const IID_IWBEMCALLRESULT: Uuid = uuid!("44aca675-e8fc-11d0-a07c-00c04fb68820");
pub const IID_IWBEMFETCHSMARTENUM: Uuid = uuid!("1c1c45ee-4395-11d2-b60b-00104b703efd");
pub const IID_IWBEMWCOSMARTENUM: Uuid = uuid!("423ec01e-2e35-11d2-b604-00104b703efd");
pub const IID_IWBEMOBJECTSINK: Uuid = uuid!("7c857801-7381-11cf-884d-00aa004b2e24");

// Transfer syntaxes (C706 appendix I; MS-RPCE 2.2.4.12, 3.3.1.5.3).
pub const NDR: Uuid = uuid!("8a885d04-1ceb-11c9-9fe8-08002b104860");
pub const NDR64: Uuid = uuid!("71710533-beba-4937-8319-b5dbef9ccc36");
/// Bind time feature negotiation: only the first 8 bytes are fixed, the rest is the bitmask.
pub const BIND_TIME_FEATURE_PREFIX: [u8; 8] = [0x6c, 0xb7, 0x1c, 0x2c, 0x98, 0x12, 0x45, 0x40];

static INTERFACES: &[(Uuid, &str)] = &[
    (IID_IUNKNOWN, "IUnknown"),
    (IID_ICLASSFACTORY, "IClassFactory"),
    (IID_IREMUNKNOWN, "IRemUnknown"),
    (IID_IREMUNKNOWN2, "IRemUnknown2"),
    (IID_ISYSTEMACTIVATOR, "ISystemActivator"),
    (IID_IACTIVATION, "IActivation"),
    (IID_IOBJECTEXPORTER, "IObjectExporter"),
    (IID_IDISPATCH, "IDispatch"),
    (IID_ITYPEINFO, "ITypeInfo"),
    (IID_ITYPELIB, "ITypeLib"),
    (IID_IENUMVARIANT, "IEnumVARIANT"),
    (uuid!("b196b28f-bab4-101a-b69c-00aa00341d07"), "IClassFactory2"),
    (uuid!("a6ef9860-c720-11d0-9337-00a0c90dcaa9"), "IDispatchEx"),
    (uuid!("af86e2e0-b12d-4c6a-9c5a-d7aa65101e90"), "IInspectable"),
    (uuid!("00000134-0000-0000-c000-000000000046"), "IRundown"),
    (IID_IMANAGEDOBJECT, "IManagedObject"),
    (IID_IPROVIDECLASSINFO, "IProvideClassInfo"),
    (IID_IWBEMLEVEL1LOGIN, "IWbemLevel1Login"),
    (IID_IWBEMLOGINCLIENTID, "IWbemLoginClientID"),
    (uuid!("9f6c78ef-fce5-42fa-abea-3e7df91921dc"), "IWbemLoginClientIDEx"),
    (IID_IWBEMLOGINHELPER, "IWbemLoginHelper"),
    (IID_IWBEMSERVICES, "IWbemServices"),
    (IID_IWBEMBACKUPRESTORE, "IWbemBackupRestore"),
    (IID_IWBEMBACKUPRESTOREEX, "IWbemBackupRestoreEx"),
    (IID_IWBEMCLASSOBJECT, "IWbemClassObject"),
    (IID_IWBEMCONTEXT, "IWbemContext"),
    (IID_IENUMWBEMCLASSOBJECT, "IEnumWbemClassObject"),
    (IID_IWBEMCALLRESULT, "IWbemCallResult"),
    (IID_IWBEMFETCHSMARTENUM, "IWbemFetchSmartEnum"),
    (IID_IWBEMWCOSMARTENUM, "IWbemWCOSmartEnum"),
    (IID_IWBEMOBJECTSINK, "IWbemObjectSink"),
    // MS-WMI 1.9: the remaining remotable WMI interfaces.
    (uuid!("2c9273e0-1dc3-11d3-b364-00105a1f8177"), "IWbemRefreshingServices"),
    (uuid!("f1e9c5b2-f59b-11d2-b362-00105a1f8177"), "IWbemRemoteRefresher"),
    (uuid!("b7b31df9-d515-11d3-a11c-00105a1f515a"), "IWbemShutdown"),
    (uuid!("1cfaba8c-1523-11d1-ad79-00c04fd8fdff"), "IUnsecuredApartment"),
    (uuid!("31739d04-3471-4cf4-9a7c-57a44ae71956"), "IWbemUnsecuredApartment"),
    // Classic MSRPC interfaces seen next to DCOM (Wireshark packet-dcerpc-*.c, MS-* 1.9).
    (uuid!("e1af8308-5d1f-11c9-91a4-08002b14a0fa"), "EPM"),
    (uuid!("afa8bd80-7d8a-11c9-bef4-08002b102989"), "MGMT"),
    (uuid!("e3514235-4b06-11d1-ab04-00c04fc2dcd2"), "DRSUAPI"),
    (uuid!("7c44d7d4-31d5-424c-bd5e-2b3e1f323d22"), "DSAOP"),
    (uuid!("12345778-1234-abcd-ef00-0123456789ac"), "SAMR"),
    (uuid!("12345778-1234-abcd-ef00-0123456789ab"), "LSARPC"),
    (uuid!("3919286a-b10c-11d0-9ba8-00c04fd92ef5"), "DSSETUP"),
    (uuid!("12345678-1234-abcd-ef00-01234567cffb"), "NETLOGON"),
    (uuid!("367abb81-9844-35f1-ad32-98f038001003"), "SVCCTL"),
    (uuid!("4b324fc8-1670-01d3-1278-5a47bf6ee188"), "SRVSVC"),
    (uuid!("6bffd098-a112-3610-9833-46c3f87e345a"), "WKSSVC"),
    (uuid!("338cd001-2244-31f1-aaaa-900038001003"), "WINREG"),
    (uuid!("1ff70682-0a51-30e8-076d-740be8cee98b"), "ATSVC"),
    (uuid!("378e52b0-c0a9-11cf-822d-00aa0051e40f"), "SASec"),
    (uuid!("86d35949-83c9-4044-b424-db363231fd0c"), "ITaskSchedulerService"),
    (uuid!("12345678-1234-abcd-ef00-0123456789ab"), "SPOOLSS"),
    (uuid!("76f03f96-cdfd-44fc-a22c-64950a001209"), "IRemoteWinspool"),
    (uuid!("82273fdc-e32a-18c3-3f78-827929dc23ea"), "EVENTLOG"),
    (uuid!("f6beaff7-1e19-4fbb-9f8f-b89e2018337c"), "IEventService"),
    (uuid!("3dde7c30-165d-11d1-ab8f-00805f14db40"), "BACKUPKEY"),
    (uuid!("c681d488-d850-11d0-8c52-00c04fd90f7e"), "EFSRPC"),
    (uuid!("df1941c5-fe89-4e79-bf10-463657acf44d"), "EFSRPC"),
    (uuid!("a8e0653c-2744-4389-a61d-7373df8b2292"), "FSRVP"),
    (uuid!("a4f1db00-ca47-1067-b31f-00dd010662da"), "EMSMDB"),
    (uuid!("5261574a-4572-206e-b268-6b199213b4e4"), "AsyncEMSMDB"),
    (uuid!("f5cc5a18-4264-101a-8c59-08002b2f8426"), "NSPI"),
];

/// Name of a well-known DCE/RPC or DCOM interface (ISystemActivator, IRemUnknown2, IWbemServices …).
pub fn interface_name(uuid: &Uuid) -> Option<&'static str> {
    INTERFACES.iter().find(|(u, _)| u == uuid).map(|&(_, name)| name)
}

/// Name of a transfer syntax offered in a bind: NDR, NDR64 or the bind-time feature negotiation one.
pub fn transfer_syntax_name(uuid: &Uuid) -> Option<&'static str> {
    if *uuid == NDR {
        Some("NDR")
    } else if *uuid == NDR64 {
        Some("NDR64")
    } else if uuid.0.starts_with(&BIND_TIME_FEATURE_PREFIX) {
        Some("Bind Time Feature Negotiation")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Uuid {
        s.parse().expect("test UUID literal")
    }

    #[test]
    fn dcom_interfaces_of_the_case_study_have_names() {
        assert_eq!(interface_name(&u("000001a0-0000-0000-c000-000000000046")), Some("ISystemActivator"));
        assert_eq!(interface_name(&u("00000143-0000-0000-c000-000000000046")), Some("IRemUnknown2"));
        assert_eq!(interface_name(&u("00000131-0000-0000-C000-000000000046")), Some("IRemUnknown"));
        assert_eq!(interface_name(&u("027947e1-d731-11ce-a357-000000000001")), Some("IEnumWbemClassObject"));
        assert_eq!(interface_name(&u("1c1c45ee-4395-11d2-b60b-00104b703efd")), Some("IWbemFetchSmartEnum"));
        assert_eq!(interface_name(&u("c3fcc19e-a970-11d2-8b5a-00a0c9b7c9c4")), Some("IManagedObject"));
        assert_eq!(interface_name(&u("b196b283-bab4-101a-b69c-00aa00341d07")), Some("IProvideClassInfo"));
        assert_eq!(interface_name(&u("e1af8308-5d1f-11c9-91a4-08002b14a0fa")), Some("EPM"));
        assert_eq!(interface_name(&Uuid::NIL), None);
    }

    #[test]
    fn no_uuid_is_listed_under_two_names() {
        // A typo that duplicates a UUID would silently shadow the later name.
        for (i, (a, name_a)) in INTERFACES.iter().enumerate() {
            for (b, name_b) in INTERFACES.iter().skip(i + 1) {
                assert!(a != b || name_a == name_b, "{a} is both {name_a} and {name_b}");
            }
        }
    }

    #[test]
    fn transfer_syntaxes() {
        assert_eq!(transfer_syntax_name(&u("8a885d04-1ceb-11c9-9fe8-08002b104860")), Some("NDR"));
        assert_eq!(transfer_syntax_name(&u("71710533-beba-4937-8319-b5dbef9ccc36")), Some("NDR64"));
        assert_eq!(
            transfer_syntax_name(&u("6cb71c2c-9812-4540-0300-000000000000")),
            Some("Bind Time Feature Negotiation")
        );
        assert_eq!(transfer_syntax_name(&IID_IUNKNOWN), None);
    }
}
