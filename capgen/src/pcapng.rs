//! Minimal pcapng writer: one section header, interface descriptions, enhanced packet blocks.

/// Link-layer header types (pcap LINKTYPE_*).
pub const LINKTYPE_ETHERNET: u16 = 1;
pub const LINKTYPE_RAW: u16 = 101;

const BT_SHB: u32 = 0x0A0D_0D0A;
const BT_IDB: u32 = 0x0000_0001;
const BT_EPB: u32 = 0x0000_0006;

/// Accumulates a little-endian pcapng file in memory.
#[derive(Debug, Clone)]
pub struct PcapngWriter {
    buf: Vec<u8>,
    interfaces: Vec<(u16, u32)>,
}

impl Default for PcapngWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl PcapngWriter {
    /// Starts a file with a section header block (no options, unknown section length).
    pub fn new() -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        let mut w = PcapngWriter { buf: Vec::new(), interfaces: Vec::new() };
        w.block(BT_SHB, &body);
        w
    }

    /// Adds an interface (microsecond timestamps, the default resolution); returns its id.
    pub fn interface(&mut self, linktype: u16, snaplen: u32) -> u32 {
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&snaplen.to_le_bytes());
        self.block(BT_IDB, &body);
        self.interfaces.push((linktype, snaplen));
        (self.interfaces.len() - 1) as u32
    }

    /// Adds one packet seen on `iface` at `ts_us` microseconds since the epoch.
    pub fn packet(&mut self, iface: u32, ts_us: u64, data: &[u8]) {
        let (_, snaplen) = self.interfaces[iface as usize];
        let captured = &data[..data.len().min(snaplen as usize)];
        let mut body = Vec::new();
        body.extend_from_slice(&iface.to_le_bytes());
        body.extend_from_slice(&((ts_us >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts_us as u32).to_le_bytes());
        body.extend_from_slice(&(captured.len() as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(captured);
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        self.block(BT_EPB, &body);
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn block(&mut self, block_type: u32, body: &[u8]) {
        debug_assert!(body.len().is_multiple_of(4), "pcapng block bodies are 32-bit aligned");
        let total = (body.len() + 12) as u32;
        self.buf.extend_from_slice(&block_type.to_le_bytes());
        self.buf.extend_from_slice(&total.to_le_bytes());
        self.buf.extend_from_slice(body);
        self.buf.extend_from_slice(&total.to_le_bytes());
    }
}
