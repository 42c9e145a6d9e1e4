//! The thin layer over the Milvus SDK (`milvus-sdk-rust`, gRPC): the handful of calls the
//! backend makes, with plain types in and out (JSON rows, field lists), run on a runtime
//! of its own so callers stay synchronous. Without the `milvus` feature every call
//! answers [`MilvusError::FeatureDisabled`].

use std::collections::HashMap;

/// A field of a collection as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldInfo {
    /// Field name.
    pub name: String,
    /// Data type, as the SDK names it (`VarChar`, `FloatVector`, …).
    pub data_type: String,
    /// Type parameters (`dim`, `max_length`, …).
    pub params: HashMap<String, String>,
}

/// What the server says about a collection.
#[derive(Debug, Clone, Default)]
pub(crate) struct CollectionInfo {
    /// Its fields.
    pub fields: Vec<FieldInfo>,
    /// Its properties (cseek keeps its metadata there).
    pub properties: HashMap<String, String>,
}

/// One vector search of a (hybrid) search.
#[derive(Debug, Clone)]
pub(crate) enum SubSearch {
    /// Dense vector against the dense field (inner product).
    Dense(Vec<f32>),
    /// Text against the body BM25 function's sparse field.
    Text(String),
    /// Text against the path BM25 function's sparse field.
    Path(String),
}

/// A search result row: its output fields and score.
pub(crate) type Row = serde_json::Map<String, serde_json::Value>;

#[cfg(feature = "milvus")]
mod imp {
    use std::future::Future;
    use std::time::Duration;

    use milvus::v2 as sdk;
    use milvus::v2::prelude::*;
    use std::result::Result;

    use super::super::schema::{self, FIELD_DENSE, FIELD_PATH_SPARSE, FIELD_SPARSE};
    use super::{CollectionInfo, FieldInfo, Row, SubSearch};
    use crate::milvus::{MilvusError, MilvusUrl};

    /// A connection to one Milvus server and database.
    pub(crate) struct Client {
        client: ClientV2,
        /// Always `Some` until dropped.
        runtime: Option<tokio::runtime::Runtime>,
        /// `host:port` for messages.
        addr: String,
    }

    impl Client {
        /// Connect (a `Connect` RPC answered within a few seconds, or
        /// [`MilvusError::Unreachable`]).
        pub(crate) fn connect(url: &MilvusUrl) -> Result<Client, MilvusError> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("cseek-milvus")
                .enable_all()
                .build()
                .map_err(|e| MilvusError::Server {
                    action: "starting the client runtime",
                    detail: e.to_string(),
                })?;
            let mut config = ConnectConfig::new()
                .uri(format!("http://{}", url.addr))
                .connect_timeout(Duration::from_secs(3))
                .rpc_timeout(Duration::from_secs(120))
                .retry(RetryConfig::new().max_attempts(2))
                .telemetry(TelemetryConfig::new().enabled(false));
            if let Some(db) = &url.database {
                config = config.database(db.clone());
            }
            let addr = url.addr.clone();
            let client = run(&runtime, async move { ClientV2::new(&config).await })
                .map_err(|detail| MilvusError::Server {
                    action: "connecting",
                    detail: detail.into(),
                })?
                .map_err(|e| unreachable_or(&url.addr, "connecting", e))?;
            Ok(Client {
                client,
                runtime: Some(runtime),
                addr,
            })
        }

        fn block<T: Send + 'static>(
            &self,
            action: &'static str,
            f: impl Future<Output = sdk::error::Result<T>> + Send + 'static,
        ) -> Result<T, MilvusError> {
            let runtime = self.runtime.as_ref().ok_or_else(|| MilvusError::Server {
                action,
                detail: "the client was shut down".into(),
            })?;
            run(runtime, f)
                .map_err(|detail| MilvusError::Server {
                    action,
                    detail: detail.into(),
                })?
                .map_err(|e| unreachable_or(&self.addr, action, e))
        }

        /// The collection, or `None` when there is none of that name.
        pub(crate) fn describe(&self, name: &str) -> Result<Option<CollectionInfo>, MilvusError> {
            let c = self.client.clone();
            let n = name.to_string();
            let exists = self.block("checking the collection", async move {
                let req = HasCollectionRequest::builder().collection_name(n).build()?;
                Ok(c.has_collection(req).await?.exists())
            })?;
            if !exists {
                return Ok(None);
            }
            let c = self.client.clone();
            let n = name.to_string();
            let info = self.block("describing the collection", async move {
                let req = DescribeCollectionRequest::builder()
                    .collection_name(n)
                    .build()?;
                let resp = c.describe_collection(req).await?;
                let desc = resp.description();
                let fields = desc
                    .get_schema()
                    .get_fields()
                    .iter()
                    .map(|f| FieldInfo {
                        name: f.get_name().to_string(),
                        data_type: format!("{:?}", f.get_data_type()),
                        params: f.get_type_params().clone(),
                    })
                    .collect();
                Ok(CollectionInfo {
                    fields,
                    properties: desc.get_properties().clone(),
                })
            })?;
            Ok(Some(info))
        }

        /// Create cseek's collection (see [`schema`]) with `dims`-dim vectors and these
        /// properties, index it and load it.
        pub(crate) fn create(
            &self,
            name: &str,
            dims: usize,
            properties: Vec<(String, String)>,
        ) -> Result<(), MilvusError> {
            let mut s = sdk::CollectionSchema::new();
            for f in schema::scalar_fields() {
                let mut field = sdk::FieldSchema::new().name(f.name);
                field = if f.max_length == 0 {
                    field.data_type(sdk::DataType::Int64)
                } else {
                    field
                        .data_type(sdk::DataType::VarChar)
                        .max_length(f.max_length as u32)
                };
                if f.primary {
                    field = field.primary_key(true);
                }
                if schema::BM25_FIELDS
                    .iter()
                    .any(|(_, input, _)| *input == f.name)
                {
                    field = field
                        .enable_analyzer(true)
                        .analyzer_params(serde_json::json!({"tokenizer": "standard"}));
                }
                s = s.add_field(field);
            }
            s = s.add_field(
                sdk::FieldSchema::new()
                    .name(FIELD_DENSE)
                    .data_type(sdk::DataType::FloatVector)
                    .dimension(dims as u32),
            );
            let mut index_params = vec![IndexParam::new()
                .field_name(FIELD_DENSE)
                .index_type(IndexType::AutoIndex)
                .metric_type(MetricType::Ip)];
            for (function, input, sparse) in schema::BM25_FIELDS {
                s = s
                    .add_field(
                        sdk::FieldSchema::new()
                            .name(sparse)
                            .data_type(sdk::DataType::SparseFloatVector),
                    )
                    .add_function(
                        Function::new()
                            .name(function)
                            .function_type(FunctionType::Bm25)
                            .input_fields([input])
                            .output_fields([sparse]),
                    );
                index_params.push(
                    IndexParam::new()
                        .field_name(sparse)
                        .index_type(IndexType::SparseInvertedIndex)
                        .metric_type(MetricType::Bm25),
                );
            }
            let c = self.client.clone();
            let n = name.to_string();
            self.block("creating the collection", async move {
                let req = CreateCollectionRequest::builder()
                    .collection_name(n.clone())
                    .schema(s)
                    .index_params(index_params)
                    .consistency_level(ConsistencyLevel::Strong);
                let req = req.properties(properties.into_iter().collect());
                c.create_collection(req.build()?).await?;
                c.load_collection(
                    LoadCollectionRequest::builder()
                        .collection_name(n)
                        .build()?,
                )
                .await?;
                Ok(())
            })
        }

        /// Make sure the collection is loaded (a restarted server may have released it).
        pub(crate) fn load(&self, name: &str) -> Result<(), MilvusError> {
            let c = self.client.clone();
            let n = name.to_string();
            self.block("loading the collection", async move {
                c.load_collection(
                    LoadCollectionRequest::builder()
                        .collection_name(n)
                        .build()?,
                )
                .await?;
                Ok(())
            })
        }

        /// Set these properties of the collection (the others are kept).
        pub(crate) fn set_properties(
            &self,
            name: &str,
            properties: std::collections::HashMap<String, String>,
        ) -> Result<(), MilvusError> {
            let c = self.client.clone();
            let n = name.to_string();
            self.block("setting the collection's properties", async move {
                let req = AlterCollectionPropertiesRequest::builder()
                    .collection_name(n)
                    .properties(properties)
                    .build()?;
                c.alter_collection_properties(req).await
            })
        }

        /// Rows matching `filter`.
        pub(crate) fn count(&self, name: &str, filter: &str) -> Result<u64, MilvusError> {
            let c = self.client.clone();
            let n = name.to_string();
            let f = filter.to_string();
            self.block("counting rows", async move {
                let req = QueryRequest::builder()
                    .collection_name(n)
                    .filter(f)
                    .output_fields(["count(*)"])
                    .consistency_level(ConsistencyLevel::Strong)
                    .build()?;
                let resp = c.query(req).await?;
                let mut n = 0;
                for row in resp.results().rows()? {
                    n = row.get_i64("count(*)")?.max(0) as u64;
                }
                Ok(n)
            })
        }

        /// Rows matching `filter` (at most `limit`), with these fields.
        pub(crate) fn query(
            &self,
            name: &str,
            filter: &str,
            fields: &[&str],
            limit: i64,
        ) -> Result<Vec<Row>, MilvusError> {
            let c = self.client.clone();
            let n = name.to_string();
            let f = filter.to_string();
            let fields: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
            self.block("querying", async move {
                let req = QueryRequest::builder()
                    .collection_name(n)
                    .filter(f)
                    .output_fields(fields)
                    .limit(limit)
                    .consistency_level(ConsistencyLevel::Strong)
                    .build()?;
                let resp = c.query(req).await?;
                let mut rows = Vec::new();
                for row in resp.results().rows()? {
                    rows.push(row.to_entity_row()?);
                }
                Ok(rows)
            })
        }

        /// Delete the rows matching `filter`.
        pub(crate) fn delete(&self, name: &str, filter: &str) -> Result<(), MilvusError> {
            let c = self.client.clone();
            let n = name.to_string();
            let f = filter.to_string();
            self.block("deleting rows", async move {
                let req = DeleteRequest::builder()
                    .collection_name(n)
                    .filter(f)
                    .build()?;
                c.delete(req).await?;
                Ok(())
            })
        }

        /// Insert rows (JSON objects keyed by field name).
        pub(crate) fn insert(
            &self,
            name: &str,
            rows: Vec<serde_json::Value>,
        ) -> Result<(), MilvusError> {
            let c = self.client.clone();
            let n = name.to_string();
            self.block("inserting rows", async move {
                let req = InsertRequest::builder()
                    .collection_name(n)
                    .rows(rows)
                    .build()?;
                c.insert(req).await?;
                Ok(())
            })
        }

        /// Several searches at once (concurrently), each with its limit; each returns
        /// its rows with `fields`, filtered by `filter`, best first.
        pub(crate) fn search_all(
            &self,
            name: &str,
            searches: Vec<(SubSearch, i64)>,
            filter: &str,
            fields: &[&str],
        ) -> Result<Vec<Vec<(Row, f32)>>, MilvusError> {
            let fields: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
            let mut tasks = Vec::new();
            for (sub, limit) in searches {
                tasks.push(search_one(
                    self.client.clone(),
                    name.to_string(),
                    sub,
                    filter.to_string(),
                    limit,
                    fields.clone(),
                ));
            }
            self.block("searching", async move {
                let handles: Vec<_> = tasks.into_iter().map(tokio::spawn).collect();
                let mut out = Vec::with_capacity(handles.len());
                for h in handles {
                    out.push(h.await.map_err(|e| {
                        sdk::error::Error::Unexpected(format!("search task: {e}"))
                    })??);
                }
                Ok(out)
            })
        }
    }

    /// One search (see [`Client::search_all`]).
    async fn search_one(
        c: ClientV2,
        n: String,
        sub: SubSearch,
        f: String,
        limit: i64,
        fields: Vec<String>,
    ) -> sdk::error::Result<Vec<(Row, f32)>> {
        let (field, vectors, metric) = match sub {
            SubSearch::Dense(v) => (FIELD_DENSE, SearchVectors::Float(vec![v]), MetricType::Ip),
            SubSearch::Text(t) => (
                FIELD_SPARSE,
                SearchVectors::EmbeddedText(vec![t]),
                MetricType::Bm25,
            ),
            SubSearch::Path(t) => (
                FIELD_PATH_SPARSE,
                SearchVectors::EmbeddedText(vec![t]),
                MetricType::Bm25,
            ),
        };
        // BM25 scores are positive in Milvus; milvus-lite reports them negated (as a
        // distance), still best first.
        let bm25 = metric == MetricType::Bm25;
        let mut req = SearchRequest::builder()
            .collection_name(n)
            .vector_field(field)
            .vectors(vectors)
            .metric_type(metric)
            .limit(limit)
            .output_fields(fields)
            .consistency_level(ConsistencyLevel::Strong);
        if !f.is_empty() {
            req = req.filter(f);
        }
        let results = c.search(req.build()?).await?.results().clone();
        let mut out = Vec::new();
        for result in results.iter() {
            let scores = result.get_scores().to_vec();
            for (i, row) in result.rows()?.enumerate() {
                let mut score = scores.get(i).copied().unwrap_or(0.0);
                if bm25 {
                    score = score.abs();
                }
                out.push((row.to_entity_row()?, score));
            }
        }
        Ok(out)
    }

    impl Drop for Client {
        /// Without waiting: dropping a runtime that blocks would panic inside another
        /// runtime (the MCP server's).
        fn drop(&mut self) {
            if let Some(rt) = self.runtime.take() {
                rt.shutdown_background();
            }
        }
    }

    /// Run `f` on `runtime` and wait for it: works from any thread, inside another tokio
    /// runtime too (the MCP server's), where `block_on` would panic.
    fn run<T: Send + 'static>(
        runtime: &tokio::runtime::Runtime,
        f: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, &'static str> {
        let handle = runtime.spawn(f);
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = tx.send(handle.await);
        });
        match rx.recv() {
            Ok(Ok(v)) => Ok(v),
            // The task panicked (a bug in the SDK, or an answer it could not handle): an
            // error of this call, not a crash of the host.
            Ok(Err(e)) if e.is_panic() => Err("the Milvus client failed on the server's answer"),
            Ok(Err(_)) | Err(_) => Err("the Milvus client runtime stopped"),
        }
    }

    /// The SDK's error as ours: unreachable when the transport failed, else the server's
    /// message (on one line).
    fn unreachable_or(addr: &str, action: &'static str, e: sdk::error::Error) -> MilvusError {
        let transport = matches!(
            &e,
            sdk::error::Error::Grpc(_) | sdk::error::Error::Timeout(_)
        ) || matches!(&e, sdk::error::Error::RetryExhausted { source, .. }
            if matches!(**source, sdk::error::Error::Grpc(_) | sdk::error::Error::Timeout(_)));
        let detail = e.to_string();
        if transport
            && (detail.contains("transport")
                || detail.contains("onnect")
                || detail.contains("navailable")
                || detail.contains("timed out")
                || detail.contains("timeout"))
        {
            return MilvusError::Unreachable {
                addr: addr.to_string(),
            };
        }
        MilvusError::Server {
            action,
            detail: super::super::one_line(&detail),
        }
    }
}

#[cfg(not(feature = "milvus"))]
mod imp {
    use super::{CollectionInfo, Row, SubSearch};
    use crate::milvus::{MilvusError, MilvusUrl};

    /// Stands in for the client in builds without the `milvus` feature.
    pub(crate) struct Client;

    impl Client {
        pub(crate) fn connect(_url: &MilvusUrl) -> Result<Client, MilvusError> {
            Err(MilvusError::FeatureDisabled)
        }
        pub(crate) fn describe(&self, _: &str) -> Result<Option<CollectionInfo>, MilvusError> {
            Err(MilvusError::FeatureDisabled)
        }
        pub(crate) fn create(
            &self,
            _: &str,
            _: usize,
            _: Vec<(String, String)>,
        ) -> Result<(), MilvusError> {
            Err(MilvusError::FeatureDisabled)
        }
        pub(crate) fn load(&self, _: &str) -> Result<(), MilvusError> {
            Err(MilvusError::FeatureDisabled)
        }
        pub(crate) fn set_properties(
            &self,
            _: &str,
            _: std::collections::HashMap<String, String>,
        ) -> Result<(), MilvusError> {
            Err(MilvusError::FeatureDisabled)
        }
        pub(crate) fn count(&self, _: &str, _: &str) -> Result<u64, MilvusError> {
            Err(MilvusError::FeatureDisabled)
        }
        pub(crate) fn query(
            &self,
            _: &str,
            _: &str,
            _: &[&str],
            _: i64,
        ) -> Result<Vec<Row>, MilvusError> {
            Err(MilvusError::FeatureDisabled)
        }
        pub(crate) fn delete(&self, _: &str, _: &str) -> Result<(), MilvusError> {
            Err(MilvusError::FeatureDisabled)
        }
        pub(crate) fn insert(&self, _: &str, _: Vec<serde_json::Value>) -> Result<(), MilvusError> {
            Err(MilvusError::FeatureDisabled)
        }
        pub(crate) fn search_all(
            &self,
            _: &str,
            _: Vec<(SubSearch, i64)>,
            _: &str,
            _: &[&str],
        ) -> Result<Vec<Vec<(Row, f32)>>, MilvusError> {
            Err(MilvusError::FeatureDisabled)
        }
    }
}

pub(crate) use imp::Client;
