//! `hookwire types ...`: the event-types catalog.

use clap::{Args, Subcommand};
use hookwire_protocol::admin::NoFields;
use hookwire_protocol::catalog::{CreateType, JsonChange, TypeName, UpdateType};
use hookwire_protocol::operation::AdminRequest;
use serde_json::Value;

use super::parse_json_arg;

#[derive(Debug, Subcommand)]
pub(crate) enum TypeCommand {
    /// Adds a type to the catalog.
    Create {
        /// The type, e.g. orders.paid.
        name: String,
        #[command(flatten)]
        fields: TypeFields,
    },
    /// Shows one type with its schema and example.
    Get {
        /// The type.
        name: String,
    },
    /// Lists the catalog.
    List,
    /// Changes a type; only the given fields change (a new schema bumps the version).
    Update {
        /// The type.
        name: String,
        #[command(flatten)]
        fields: TypeFields,
    },
    /// Marks a type deprecated (still delivered).
    Deprecate {
        /// The type.
        name: String,
    },
    /// Removes a type from the catalog.
    Delete {
        /// The type.
        name: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct TypeFields {
    /// What the type means.
    #[arg(long)]
    description: Option<String>,
    /// JSON Schema of the data: JSON text, or @FILE.
    #[arg(long, value_parser = parse_json_arg)]
    schema: Option<Value>,
    /// Example data: JSON text, or @FILE.
    #[arg(long, value_parser = parse_json_arg)]
    example: Option<Value>,
    /// Check published events against the schema (true or false).
    #[arg(long)]
    validate: Option<bool>,
}

impl TypeCommand {
    pub(crate) fn request(&self) -> AdminRequest {
        let named = |name: &String| TypeName { name: name.clone() };
        match self {
            Self::Create { name, fields } => AdminRequest::TypesCreate(CreateType {
                name: name.clone(),
                description: fields.description.clone(),
                schema: fields.schema.clone(),
                example: fields.example.clone(),
                validate: fields.validate,
            }),
            Self::Update { name, fields } => AdminRequest::TypesUpdate(UpdateType {
                name: name.clone(),
                description: fields.description.clone(),
                schema: fields
                    .schema
                    .clone()
                    .map_or(JsonChange::Keep, JsonChange::Set),
                example: fields
                    .example
                    .clone()
                    .map_or(JsonChange::Keep, JsonChange::Set),
                validate: fields.validate,
            }),
            Self::Get { name } => AdminRequest::TypesGet(named(name)),
            Self::List => AdminRequest::TypesList(NoFields {}),
            Self::Deprecate { name } => AdminRequest::TypesDeprecate(named(name)),
            Self::Delete { name } => AdminRequest::TypesDelete(named(name)),
        }
    }
}
