//! `matrix.bin`: the vectors as a raw little-endian row-major matrix, read zero-copy.
//!
//! A 32-byte header (magic, version, dtype, dims, count) and then `count` rows of `dims`
//! f32 or f16 values. Opening maps the file and checks the header and the exact length;
//! rows are borrowed from the map (`bytemuck`), so memory use is what the OS pages in.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use half::f16;
use memmap2::Mmap;

use crate::error::{Error, Result};
use crate::vector::VectorDtype;

/// File name inside the vectors directory.
pub(crate) const MATRIX_FILE: &str = "matrix.bin";
const MAGIC: [u8; 8] = *b"CSKVECS\0";
/// Version of the matrix file layout (independent of the index format version).
const VERSION: u32 = 1;
/// Header bytes; a multiple of 4 so that rows stay aligned for f32 in the (page-aligned) map.
pub(crate) const HEADER_LEN: usize = 32;

impl VectorDtype {
    fn code(self) -> u32 {
        match self {
            VectorDtype::F32 => 0,
            VectorDtype::F16 => 1,
        }
    }

    fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(VectorDtype::F32),
            1 => Some(VectorDtype::F16),
            _ => None,
        }
    }

    /// Bytes per element.
    pub(crate) fn size(self) -> usize {
        match self {
            VectorDtype::F32 => 4,
            VectorDtype::F16 => 2,
        }
    }
}

fn header(dtype: VectorDtype, dims: usize, count: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&dtype.code().to_le_bytes());
    h[16..20].copy_from_slice(&(dims as u32).to_le_bytes());
    // 20..24 reserved (zero)
    h[24..32].copy_from_slice(&count.to_le_bytes());
    h
}

/// Streams rows to `matrix.bin`; the count in the header is patched in by `finish`.
pub(crate) struct MatrixWriter {
    path: PathBuf,
    out: BufWriter<File>,
    dtype: VectorDtype,
    dims: usize,
    count: u64,
    scratch: Vec<u8>,
}

impl MatrixWriter {
    pub(crate) fn create(dir: &Path, dims: usize, dtype: VectorDtype) -> Result<Self> {
        let path = dir.join(MATRIX_FILE);
        let file = File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&header(dtype, dims, 0))
            .map_err(|e| Error::io("writing", &path, e))?;
        Ok(MatrixWriter {
            path,
            out,
            dtype,
            dims,
            count: 0,
            scratch: Vec::with_capacity(dims * 4),
        })
    }

    /// Continue the matrix in `base_dir` (`count` rows, already validated by opening it)
    /// in `dir`: the file is copied and rows are appended to the copy.
    pub(crate) fn create_from(
        base_dir: &Path,
        dir: &Path,
        dims: usize,
        dtype: VectorDtype,
        count: u64,
    ) -> Result<Self> {
        let from = base_dir.join(MATRIX_FILE);
        let path = dir.join(MATRIX_FILE);
        std::fs::copy(&from, &path).map_err(|e| Error::io("copying", &from, e))?;
        let mut file = File::options()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("opening", &path, e))?;
        let end = HEADER_LEN as u64 + count * (dims * dtype.size()) as u64;
        // Exactly the validated rows: anything after them is not ours.
        file.set_len(end)
            .and_then(|_| file.seek(SeekFrom::Start(end)))
            .map_err(|e| Error::io("opening", &path, e))?;
        Ok(MatrixWriter {
            path,
            out: BufWriter::with_capacity(1 << 20, file),
            dtype,
            dims,
            count,
            scratch: Vec::with_capacity(dims * 4),
        })
    }

    /// Append one row (length already checked by the caller).
    pub(crate) fn push(&mut self, v: &[f32]) -> Result<()> {
        self.scratch.clear();
        // Explicit little-endian bytes: the file is portable even if a reader is not.
        match self.dtype {
            VectorDtype::F32 => {
                for x in v {
                    self.scratch.extend_from_slice(&x.to_le_bytes());
                }
            }
            VectorDtype::F16 => {
                for x in v {
                    self.scratch
                        .extend_from_slice(&f16::from_f32(*x).to_bits().to_le_bytes());
                }
            }
        }
        self.out
            .write_all(&self.scratch)
            .map_err(|e| Error::io("writing", &self.path, e))?;
        self.count += 1;
        Ok(())
    }

    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Flush, write the final count into the header, fsync. Returns the file length.
    pub(crate) fn finish(self) -> Result<u64> {
        let MatrixWriter {
            path,
            out,
            dtype,
            dims,
            count,
            ..
        } = self;
        let mut file = out
            .into_inner()
            .map_err(|e| Error::io("writing", &path, e.into_error()))?;
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&header(dtype, dims, count)))
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io("writing", &path, e))?;
        Ok(HEADER_LEN as u64 + count * (dims * dtype.size()) as u64)
    }
}

/// The rows of an opened matrix, borrowed from the memory map.
#[derive(Clone, Copy)]
pub(crate) enum Rows<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
}

/// A memory-mapped, validated `matrix.bin`.
pub(crate) struct Matrix {
    map: Option<Mmap>,
    dtype: VectorDtype,
    dims: usize,
    count: usize,
}

impl Matrix {
    /// Map and validate `matrix.bin`: magic, version, dtype/dims/count as `expect`ed
    /// (from the metadata), and exactly `HEADER_LEN + count * dims * size` bytes.
    pub(crate) fn open(
        dir: &Path,
        dtype: VectorDtype,
        dims: usize,
        count: usize,
        expected_len: u64,
    ) -> Result<Self> {
        let path = dir.join(MATRIX_FILE);
        let file = File::open(&path).map_err(|e| Error::corrupt(&path, e.to_string()))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("reading", &path, e))?
            .len();
        if len != expected_len {
            return Err(Error::corrupt(
                &path,
                format!("{len} bytes, the metadata says {expected_len}"),
            ));
        }
        if len < HEADER_LEN as u64 {
            return Err(Error::corrupt(&path, "shorter than its header"));
        }
        // SAFETY: files of a committed generation are immutable (written into a temporary
        // directory, renamed into place, never modified); cseek never writes a mapped file.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io("mapping", &path, e))?;
        let h = &map[..HEADER_LEN];
        let u32_at = |at: usize| u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        if h[..8] != MAGIC {
            return Err(Error::corrupt(
                &path,
                "not a cseek vector matrix (bad magic)",
            ));
        }
        if u32_at(8) != VERSION {
            return Err(Error::corrupt(
                &path,
                format!("matrix file version {}, expected {VERSION}", u32_at(8)),
            ));
        }
        let file_dtype = VectorDtype::from_code(u32_at(12))
            .ok_or_else(|| Error::corrupt(&path, format!("unknown dtype code {}", u32_at(12))))?;
        let file_dims = u32_at(16) as usize;
        let mut c = [0u8; 8];
        c.copy_from_slice(&h[24..32]);
        let file_count = u64::from_le_bytes(c);
        if file_dtype != dtype || file_dims != dims || file_count != count as u64 {
            return Err(Error::corrupt(
                &path,
                format!(
                    "header says {file_count} × {file_dims} {file_dtype:?}, metadata says {count} × {dims} {dtype:?}"
                ),
            ));
        }
        let body = (count as u64)
            .checked_mul(dims as u64)
            .and_then(|n| n.checked_mul(dtype.size() as u64))
            .and_then(|n| n.checked_add(HEADER_LEN as u64));
        if body != Some(len) {
            return Err(Error::corrupt(
                &path,
                format!("{count} rows of {dims} {dtype:?} need {body:?} bytes, file has {len}"),
            ));
        }
        let matrix = Matrix {
            map: Some(map),
            dtype,
            dims,
            count,
        };
        // Alignment and length were checked above; this only fails on a misaligned map.
        if matrix.rows_checked().is_none() {
            return Err(Error::corrupt(&path, "misaligned rows"));
        }
        Ok(matrix)
    }

    fn rows_checked(&self) -> Option<Rows<'_>> {
        let body = match &self.map {
            Some(map) => map.get(HEADER_LEN..)?,
            None => &[],
        };
        match self.dtype {
            VectorDtype::F32 => bytemuck::try_cast_slice(body).ok().map(Rows::F32),
            VectorDtype::F16 => bytemuck::try_cast_slice(body).ok().map(Rows::F16),
        }
    }

    /// All rows, flat (`count * dims` values).
    pub(crate) fn rows(&self) -> Rows<'_> {
        // Checked on open; the empty fallback is never taken for a validated matrix.
        self.rows_checked().unwrap_or(match self.dtype {
            VectorDtype::F32 => Rows::F32(&[]),
            VectorDtype::F16 => Rows::F16(&[]),
        })
    }

    pub(crate) fn dims(&self) -> usize {
        self.dims
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn dtype(&self) -> VectorDtype {
        self.dtype
    }
}

/// A row view that can produce f32 values (f16 rows are converted into `buf`).
pub(crate) struct RowReader<'a> {
    rows: Rows<'a>,
    dims: usize,
    buf: Vec<f32>,
}

impl<'a> RowReader<'a> {
    pub(crate) fn new(matrix: &'a Matrix) -> Self {
        let buf = match matrix.dtype() {
            VectorDtype::F32 => Vec::new(),
            VectorDtype::F16 => vec![0.0; matrix.dims()],
        };
        RowReader {
            rows: matrix.rows(),
            dims: matrix.dims(),
            buf,
        }
    }

    /// Row `i` as f32, or `None` when out of range.
    #[inline]
    pub(crate) fn row(&mut self, i: usize) -> Option<&[f32]> {
        let start = i.checked_mul(self.dims)?;
        let end = start.checked_add(self.dims)?;
        match self.rows {
            Rows::F32(r) => r.get(start..end),
            Rows::F16(r) => {
                use half::slice::HalfFloatSliceExt;
                let src = r.get(start..end)?;
                // Vectorised (F16C where the CPU has it, detected at run time).
                src.convert_to_f32_slice(&mut self.buf);
                Some(&self.buf)
            }
        }
    }
}
